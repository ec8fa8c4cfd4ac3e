/// The fixed vocabulary of the sample data: channels, names, teams, topics, tags, texts.
enum GeneratorCatalog {
    struct Channel {
        let id: String
        let medium: String
        let name: String
        let displayName: String?
        /// Relative share of the traffic.
        let weight: Double
        /// Index into `virtualAgents` of the bot answering first on this channel, if any.
        let virtualAgent: Int?
        /// Language shares: (BCP 47 tag, weight).
        let languages: [(String, Double)]
        /// Whether replies are live chat (faster pick-up) rather than social posts.
        let isChat: Bool
    }

    static let mostlyEnglish: [(String, Double)] = [("en", 65), ("fr", 14), ("es", 10), ("de", 8), ("pt-BR", 3)]

    static let channels: [Channel] = [
        Channel(id: "ch-wa-1", medium: "WHATSAPP", name: "+33186951234", displayName: "Support WhatsApp FR",
                weight: 20, virtualAgent: 0, languages: [("fr", 78), ("en", 22)], isChat: true),
        Channel(id: "ch-wa-2", medium: "WHATSAPP", name: "+442071838750", displayName: "Support WhatsApp UK",
                weight: 10, virtualAgent: 0, languages: [("en", 92), ("fr", 4), ("es", 4)], isChat: true),
        Channel(id: "ch-ig-1", medium: "INSTAGRAM", name: "acme.store", displayName: "Acme Instagram",
                weight: 12, virtualAgent: nil, languages: mostlyEnglish, isChat: false),
        Channel(id: "ch-tw-1", medium: "TWITTER", name: "@AcmeHelp", displayName: "Acme Help on X",
                weight: 10, virtualAgent: nil, languages: mostlyEnglish, isChat: false),
        Channel(id: "ch-fb-1", medium: "FACEBOOK", name: "Acme Store", displayName: "Acme Facebook Page",
                weight: 14, virtualAgent: 1, languages: mostlyEnglish, isChat: false),
        Channel(id: "ch-sms-1", medium: "SMS", name: "+15559876543", displayName: "US SMS line",
                weight: 6, virtualAgent: nil, languages: [("en", 88), ("es", 12)], isChat: true),
        Channel(id: "ch-web-1", medium: "WEBCHAT", name: "www.acme.example", displayName: "Website chat",
                weight: 20, virtualAgent: 0, languages: mostlyEnglish, isChat: true),
        Channel(id: "ch-web-2", medium: "WEBCHAT", name: "help.acme.example", displayName: nil,
                weight: 8, virtualAgent: 1, languages: mostlyEnglish, isChat: true),
    ]

    /// Contact media, in the order of the contact pool's blocks.
    static let media = ["WHATSAPP", "INSTAGRAM", "TWITTER", "FACEBOOK", "SMS", "WEBCHAT"]

    struct VirtualAgent {
        let id: String
        let name: String
        let formerName: String
    }

    static let virtualAgents = [
        VirtualAgent(id: "va-1", name: "Ava (virtual assistant)", formerName: "Ava (beta)"),
        VirtualAgent(id: "va-2", name: "Orderbot", formerName: "Order status bot"),
    ]

    struct Team {
        let name: String
        let formerName: String?
    }

    static let teams = [
        Team(name: "Tier 1", formerName: "Level 1"),
        Team(name: "Tier 2", formerName: "Level 2"),
        Team(name: "Social Media", formerName: nil),
        Team(name: "Billing & Payments", formerName: "Billing"),
    ]
    /// Team of human agent `index % 10`, with three teams and with four.
    static let teamPatternThree = [0, 0, 2, 0, 1, 2, 0, 2, 1, 0]
    static let teamPatternFour = [0, 0, 2, 0, 1, 3, 2, 0, 1, 3]
    static let socialTeam = 2

    /// (display, ascii) first names.
    static let firstNames: [(String, String)] = [
        ("Alice", "alice"), ("Bruno", "bruno"), ("Chloé", "chloe"), ("David", "david"), ("Emma", "emma"),
        ("François", "francois"), ("Gabriel", "gabriel"), ("Hugo", "hugo"), ("Inès", "ines"), ("Jules", "jules"),
        ("Karim", "karim"), ("Léa", "lea"), ("Manon", "manon"), ("Nathan", "nathan"), ("Olivia", "olivia"),
        ("Paul", "paul"), ("Quentin", "quentin"), ("Raphaël", "raphael"), ("Sofia", "sofia"), ("Thomas", "thomas"),
        ("Ursula", "ursula"), ("Victor", "victor"), ("Wendy", "wendy"), ("Xavier", "xavier"), ("Yasmine", "yasmine"),
        ("Zoë", "zoe"), ("Amir", "amir"), ("Beatriz", "beatriz"), ("Carlos", "carlos"), ("Dmitri", "dmitri"),
        ("Elena", "elena"), ("Fatima", "fatima"), ("Giulia", "giulia"), ("Hannah", "hannah"), ("Ivan", "ivan"),
        ("Jana", "jana"), ("Kenji", "kenji"), ("Lucía", "lucia"), ("Mei", "mei"), ("Noah", "noah"),
    ]

    static let lastNames: [(String, String)] = [
        ("Martin", "martin"), ("Bernard", "bernard"), ("Dubois", "dubois"), ("Thomas", "thomas"), ("Robert", "robert"),
        ("Richard", "richard"), ("Petit", "petit"), ("Durand", "durand"), ("Leroy", "leroy"), ("Moreau", "moreau"),
        ("Simon", "simon"), ("Laurent", "laurent"), ("Lefèvre", "lefevre"), ("Michel", "michel"), ("García", "garcia"),
        ("Müller", "muller"), ("Smith", "smith"), ("Johnson", "johnson"), ("Williams", "williams"), ("Brown", "brown"),
        ("Jones", "jones"), ("Rossi", "rossi"), ("Russo", "russo"), ("Schmidt", "schmidt"), ("Schneider", "schneider"),
        ("Fischer", "fischer"), ("López", "lopez"), ("González", "gonzalez"), ("Pereira", "pereira"), ("Silva", "silva"),
        ("Nakamura", "nakamura"), ("Tanaka", "tanaka"), ("Wang", "wang"), ("Kowalski", "kowalski"), ("Nowak", "nowak"),
        ("O'Brien", "obrien"), ("Murphy", "murphy"), ("Jansen", "jansen"), ("de Vries", "devries"), ("Andersen", "andersen"),
        ("Haddad", "haddad"),
    ]

    /// (id suffix, name) of topics; the deactivated one is applied only before it was deactivated.
    static let topics = [
        "Order status", "Delivery delay", "Refund request", "Billing", "Account access", "Product question",
        "Complaint", "Technical issue", "Returns & exchanges", "Cancellation", "Feedback", "Promotion",
    ]
    static let deactivatedTopic = "Black Friday 2025"

    static let tags = [
        "urgent", "vip", "follow-up", "bug", "praise", "escalated", "lead", "spam", "needs-translation", "duplicate",
    ]
    static let deactivatedTag = "legacy-escalation"

    static let awayStates = ["Break", "Lunch", "Meeting", "Training", "Back office"]

    static let handoverReasons: [(String, Double)] = [
        ("AGENT_REQUESTED", 45), ("INTENT_NOT_UNDERSTOOD", 33), ("ERROR", 15), ("OUT_OF_SCOPE", 7),
    ]

    static let resolutionReasons = [
        "Answered", "Answered", "Answered", "Issue solved", "Issue solved", "Refund issued", "Order updated",
        "Escalated to email", "Information provided",
    ]
    static let noReplyReasons = ["No response needed", "Spam", "Duplicate", "Thank-you message"]
    static let resolutionComments = [
        "Customer confirmed via DM", "Sent the \"returns\" link, customer happy", "Refund of 24,90 € approved",
        "Follow-up ticket #4471 in the CRM", "Resolved on the phone\nno further action",
    ]

    static let inboundTexts: [String: [String]] = [
        "en": [
            "Hi, my order hasn't arrived yet. Can you check?",
            "Hello! I was charged twice for the same order 😕",
            "How do I reset my password?",
            "Is the blue version back in stock?",
            "I want to return an item, what's the process?",
            "Your delivery driver left my parcel in the rain. Not happy.",
            "Thanks for the quick help yesterday!",
            "Can I change the delivery address for order #58213?",
            "The app keeps crashing when I open my basket",
            "Do you ship to Canada?",
            "ok",
            "Still waiting for an answer…",
            "I'd like to cancel my subscription, please.",
            "Where can I find my invoice? I need it for \"expenses\".",
        ],
        "fr": [
            "Bonjour, ma commande n'est toujours pas arrivée.",
            "J'ai été débité deux fois, pouvez-vous vérifier ?",
            "Comment modifier mon adresse de livraison ?",
            "Merci beaucoup pour votre aide !",
            "Le colis est arrivé abîmé 😞",
            "Est-ce que je peux échanger la taille ?",
            "Toujours pas de réponse…",
        ],
        "es": [
            "Hola, mi pedido no ha llegado todavía.",
            "¿Cómo puedo devolver un producto?",
            "¡Gracias por la ayuda!",
        ],
        "de": [
            "Hallo, meine Bestellung ist noch nicht angekommen.",
            "Wie kann ich mein Passwort zurücksetzen?",
            "Vielen Dank für die schnelle Hilfe!",
        ],
        "pt-BR": [
            "Olá, meu pedido ainda não chegou.",
            "Obrigado pela ajuda!",
        ],
    ]

    static let replyTexts: [String: [String]] = [
        "en": [
            "Hi! Sorry to hear that, could you send me your order number?",
            "Thanks, I've checked: your parcel is on its way and should arrive tomorrow.",
            "I've refunded the duplicate charge, it will show in 3–5 business days.",
            "You can reset it from the login page under \"Forgot password\".",
            "I've updated the address on your order. Anything else I can help with?",
            "Here is the returns link: https://acme.example/returns",
            "Glad we could help! Have a great day 🙂",
        ],
        "fr": [
            "Bonjour ! Pouvez-vous me communiquer votre numéro de commande ?",
            "C'est fait, le remboursement apparaîtra sous 3 à 5 jours.",
            "Votre colis est en cours de livraison, il arrivera demain.",
            "Avec plaisir, bonne journée !",
        ],
    ]

    static let botTexts = [
        "Hi, I'm the Acme assistant. What can I help you with?",
        "I can help with orders, returns and payments. Please choose an option.",
        "Could you give me your order number?",
        "Your order is on its way: https://acme.example/track",
        "Let me connect you with one of our agents.",
        "Sorry, I didn't understand that. Could you rephrase?",
    ]

    static let autoResponse =
        "Thanks for your message! Our team is available Monday to Friday, 7:00–21:00 UTC, and will reply as soon as possible."
    static let surveyText = "How did we do? Please rate your experience from 1 to 5."

    static let followUpQuestions = ["What could we have done better?", "Anything else you'd like to tell us?"]
    static let followUpAnswers = [
        "Faster replies please",
        "The agent was great, but I had to repeat my order number \"twice\"",
        "Rien à ajouter, merci",
        "Too long to get an answer on the weekend",
        "Perfect 👍",
        "Delivery was late again.\nSecond time this month.",
    ]

    static let sentiments: [(String, Double)] = [("NEUTRAL", 40), ("POSITIVE", 25), ("NEGATIVE", 25), ("MIXED", 10)]

    /// Message types by medium for inbound messages: (type, weight, has a post URL).
    static func inboundTypes(medium: String) -> [(String, Double, Bool)] {
        switch medium {
        case "TWITTER": return [("DIRECT_MESSAGE", 45, false), ("MENTION", 35, true), ("REPLY", 20, true)]
        case "INSTAGRAM": return [("DIRECT_MESSAGE", 60, false), ("COMMENT", 25, true), ("STORY_REPLY", 15, false)]
        case "FACEBOOK": return [("DIRECT_MESSAGE", 70, false), ("COMMENT", 30, true)]
        default: return [("DIRECT_MESSAGE", 1, false)]
        }
    }

    static func postURL(medium: String, number: UInt64) -> String {
        switch medium {
        case "TWITTER": return "https://x.com/AcmeHelp/status/\(1_890_000_000_000_000_000 + number % 100_000_000_000_000)"
        case "INSTAGRAM": return "https://www.instagram.com/p/C\(number % 1_000_000_007)/"
        default: return "https://www.facebook.com/acmestore/posts/\(100_000_000_000 + number % 900_000_000_000)"
        }
    }
}

// MARK: - Business hours (issue 13, business-hours.md)

extension GeneratorCatalog {
    /// A channel's business hours as the generator writes them (`weekly` as JSON text).
    struct Schedule {
        let channelID: String
        let timeZone: String
        let weekly: String
        /// An older version of the same record (older `updated_at`), for re-delivery.
        let formerWeekly: String?
        /// The schedule that takes over halfway through the span, if any.
        let laterWeekly: String?
        /// Whether the span's public holiday (`holiday`) is a closed date.
        let closesOnHoliday: Bool
    }

    /// `weekly` JSON: the same shifts on each of `days`.
    static func shifts(_ days: [String], _ spans: [(String, String)]) -> String {
        "[" + days.flatMap { day in spans.map { "{\"day\":\"\(day)\",\"start\":\"\($0.0)\",\"end\":\"\($0.1)\"}" } }
            .joined(separator: ",") + "]"
    }

    static let weekdays = ["MON", "TUE", "WED", "THU", "FRI"]

    /// Four channels have business hours; the others (Instagram, X, Facebook, the second web
    /// chat) have none and keep calendar time.
    static let schedules: [Schedule] = [
        // Paris office hours, Saturday mornings, closed on the public holiday.
        Schedule(channelID: "ch-wa-1", timeZone: "Europe/Paris",
                 weekly: shifts(weekdays, [("09:00", "18:00")]).dropLast() + "," + shifts(["SAT"], [("10:00", "13:00")]).dropFirst(),
                 formerWeekly: shifts(weekdays, [("09:00", "17:00")]), laterWeekly: nil, closesOnHoliday: true),
        // London: a split shift around lunch.
        Schedule(channelID: "ch-wa-2", timeZone: "Europe/London",
                 weekly: shifts(weekdays, [("08:30", "12:30"), ("13:30", "17:30")]),
                 formerWeekly: nil, laterWeekly: nil, closesOnHoliday: false),
        // The website chat never closes.
        Schedule(channelID: "ch-web-1", timeZone: "Europe/Paris",
                 weekly: shifts(weekdays + ["SAT", "SUN"], [("00:00", "24:00")]),
                 formerWeekly: nil, laterWeekly: nil, closesOnHoliday: false),
        // The US SMS line: New York office hours, extended (and open on Saturdays) from halfway
        // through the span; closed on the public holiday.
        Schedule(channelID: "ch-sms-1", timeZone: "America/New_York",
                 weekly: shifts(weekdays, [("09:00", "17:00")]), formerWeekly: nil,
                 laterWeekly: shifts(weekdays, [("08:00", "20:00")]).dropLast() + "," + shifts(["SAT"], [("09:00", "13:00")]).dropFirst(),
                 closesOnHoliday: true),
    ]

    /// The span's public holiday: the first weekday on or after a third of the span (nil when
    /// the span has none).
    static func holiday(startDay: Int64, days: Int) -> String? {
        var day = days / 3
        while day < days, AgentSchedule.weekday(ofEpochDay: startDay + Int64(day)) >= 5 { day += 1 }
        guard day < days else { return nil }
        return NDJSONLineBuilder.date((startDay + Int64(day)) * 86_400_000)
    }
}
