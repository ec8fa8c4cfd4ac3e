/// The twelve exports of ../shared/spec/exports.md: slug, view and headers (English, French) in
/// column order. The views in sql/exports/ produce the rows; the exporter writes these headers.
public struct ExportType: Sendable, Equatable {
    /// The slug used on the command line (`resolved-conversations`).
    public let slug: String
    /// A title for people.
    public let title: String
    /// The view in schema `export` that defines the rows.
    public let view: String
    /// Column headers in order: English and French.
    public let headers: [(en: String, fr: String)]

    init(slug: String, title: String, view: String, columns: [(String, String)]) {
        self.slug = slug
        self.title = title
        self.view = view
        self.headers = columns.map { (en: $0.0, fr: $0.1) }
    }

    public static func == (lhs: ExportType, rhs: ExportType) -> Bool { lhs.slug == rhs.slug }

    /// Headers in a locale (`en` or `fr`).
    public func headers(locale: HeaderLocale) -> [String] {
        headers.map { locale == .fr ? $0.fr : $0.en }
    }

    /// The export whose range filters on creation time and may be omitted.
    public var isRangeOptional: Bool { slug == "open-conversations" }

    public static func named(_ slug: String) -> ExportType? {
        all.first { $0.slug == slug }
    }

    public static let all: [ExportType] = [
        ExportType(slug: "resolved-conversations", title: "Resolved conversations", view: "resolved_conversations",
                   columns: resolvedConversationColumns),
        // Export 2 has the columns of export 1 without the resolution details and the survey.
        ExportType(slug: "open-conversations", title: "New and pending conversations", view: "open_conversations",
                   columns: resolvedConversationColumns.filter { !openConversationsOmits.contains($0.0) }),
        ExportType(slug: "messages", title: "Messages", view: "messages", columns: [
            ("Message ID", "Identifiant du message"),
            ("Created at", "Créé à"),
            ("Conversation ID", "Identifiant de conversation"),
            ("Medium", "Moyen"),
            ("Channel", "Channel"),
            ("Channel Display Name", "Nom d'affichage du canal"),
            ("Contact Profile ID", "ID de profil de contact"),
            ("Contact Primary Identifier", "Identificateur principal du contact"),
            ("Contact Secondary Identifier", "Identifiant secondaire du contact"),
            ("Message Type", "Type de message"),
            ("Origin", "Origine"),
            ("Outbound Message Type", "Type de message sortant"),
            ("Direction", "Direction"),
            ("Agent ID", "ID d'agent"),
            ("Agent Name", "Nom de l'agent"),
            ("Agent Reference", "Référence de l'agent"),
            ("Team ID", "ID d'équipe"),
            ("Team Name", "Nom de l'équipe"),
            ("System User Type", "Type d'utilisateur du système"),
            ("Tag IDs", "ID de balise"),
            ("Tag Names", "Noms des balises"),
            ("Content", "Contenus"),
            ("Conversation URL", "URL de conversation"),
            ("Post URL", "URL de la publication"),
            ("Last Updated", "Dernière mise à jour"),
            ("Deleted at", "Supprimé à"),
            ("Previous Message ID", "ID du message précédent"),
            ("Time Since Previous Message", "Temps écoulé depuis les messages précédents"),
            ("Sentiment", "Opinion"),
        ]),
        ExportType(slug: "teams", title: "Teams", view: "teams", columns: [
            ("Created at", "Créé à"),
            ("Team ID", "ID d'équipe"),
            ("Team Name", "Nom de l'équipe"),
            ("Resolves With Reply", "Résout avec réponse"),
            ("Resolves Without Reply", "Résout sans réponse"),
            ("Average First Response Time", "Temps moyen pour la première réponse"),
            ("Average Resolution Time", "Temps de résolution moyen"),
            ("Total Handling Time", "Temps total de traitement"),
            ("Total No Reply Time", "Temps total sans réponse"),
            ("Total Cherry Picking Time", "Temps total de cueillette des cerises"),
            ("Average Handling Time", "Temps de traitement moyen"),
            ("Contacts Helped", "Contacts aidés"),
            ("CSAT Score 1", "CSAT avec score 1"),
            ("CSAT Score 2", "CSAT avec score 2"),
            ("CSAT Score 3", "CSAT avec score 3"),
            ("CSAT Score 4", "CSAT avec score 4"),
            ("CSAT Score 5", "CSAT avec score 5"),
            ("Tags Added", "Tags ajoutés"),
            ("Topics Added", "Sujets ajoutés"),
            ("Replies", "Réponses"),
        ]),
        ExportType(slug: "contacts", title: "Contacts", view: "contacts", columns: [
            ("Contact Profile ID", "ID de profil de contact"),
            ("Medium", "Moyen"),
            ("Primary Identifier", "Identificateur principal"),
            ("Secondary Identifier", "Identificateur secondaire"),
            ("Created at", "Créé à"),
            ("Conversation Count", "Nombre de conversations"),
            ("Inbound Message Count", "Nombre de messages entrants"),
            ("Outbound Message Count", "Nombre de messages sortants"),
            ("Last Updated", "Dernière mise à jour"),
        ]),
        ExportType(slug: "topics", title: "Topics", view: "topics", columns: [
            ("Topic ID", "Identifiant du sujet"),
            ("Topic Name", "Nom du sujet"),
            ("Active", "Actif"),
            ("Total Conversations", "Nombre total de conversations"),
            ("Current Total Conversations", "Nombre total de conversations actuelles"),
            ("Medium", "Moyen"),
            ("Channel", "Channel"),
            ("Channel Display Name", "Nom d'affichage du canal"),
        ]),
        ExportType(slug: "tags", title: "Tags", view: "tags", columns: [
            ("Tag ID", "ID de balise"),
            ("Tag Name", "Nom de l'étiquette"),
            ("Active", "Actif"),
            ("Total Contacts", "Nombre total de contacts"),
            ("Total Messages", "Nombre total de messages"),
            ("Current Total Messages", "Nombre total de messages actuels"),
            ("Medium", "Moyen"),
            ("Channel", "Channel"),
            ("Channel Display Name", "Nom d'affichage du canal"),
        ]),
        ExportType(slug: "agent-availability", title: "Agent availability", view: "agent_availability", columns: [
            ("User ID", "ID utilisateur"),
            ("User Name", "Nom d'utilisateur"),
            ("User Email", "Adresse e-mail de l'utilisateur"),
            ("Type", "Type"),
            ("Away State", "État éloigné"),
            ("From", "De"),
            ("To", "Pour"),
            ("Duration", "durées"),
        ]),
        ExportType(slug: "agent-metrics", title: "Agent metrics", view: "agent_metrics", columns: [
            ("User ID", "ID utilisateur"),
            ("User Name", "Nom d'utilisateur"),
            ("User Email", "Adresse e-mail de l'utilisateur"),
            ("User Reference", "Référence utilisateur"),
            ("Available Time", "Horaires disponibles"),
            ("Away Time", "Temps d'absence"),
            ("Contacts Helped", "Contacts aidés"),
            ("Average Handling Time", "Avg. Temps de traitement"),
            ("Handling Time", "Temps de prise en charge"),
            ("No Reply Time", "Délais de non-réponse"),
            ("Cherry Picking Time", "Les temps de la cueillette des cerises"),
            ("Replies", "Réponses"),
            ("Resolves With Reply", "Résout - Avec réponse"),
            ("Resolves Without Reply", "Résout - Pas de réponse"),
            ("Tags Added", "Tags ajoutés"),
            ("Topics Added", "Sujets ajoutés"),
            ("Utilization (%)", "Utilisation (%)"),
            ("CSAT Score 1", "CSAT avec score 1"),
            ("CSAT Score 2", "CSAT avec score 2"),
            ("CSAT Score 3", "CSAT avec score 3"),
            ("CSAT Score 4", "CSAT avec score 4"),
            ("CSAT Score 5", "CSAT avec score 5"),
        ]),
        ExportType(slug: "responses", title: "Agent response times", view: "responses", columns: [
            ("Conversation ID", "Identifiant de conversation"),
            ("Medium", "Moyen"),
            ("Sender Channel", "Canal de l'expéditeur"),
            ("Sender Channel Full Name", "Nom complet du canal de l'expéditeur"),
            ("Contact Profile ID", "ID de profil de contact"),
            ("Started By", "Commencé par"),
            ("Handover Reason", "Raison du transfert"),
            ("From", "De"),
            ("To", "Pour"),
            ("Agent Response Time", "Temps de réponse des agents"),
            ("Responding Agent ID", "ID de l'agent de réponse"),
            ("Responding Agent Name", "Nom de l'agent de réponse"),
            ("Responding Agent Reference", "Référence de l'agent de réponse"),
            ("Inbound Message ID", "ID du message entrant"),
            ("Outbound Message ID", "ID du message sortant"),
            ("Conversation URL", "URL de conversation"),
        ]),
        ExportType(slug: "virtual-agents", title: "Virtual agents", view: "virtual_agents", columns: [
            ("Agent ID", "ID d'agent"),
            ("Agent Name", "Nom de l'agent"),
            ("Medium", "Moyen"),
            ("Channel", "Channel"),
            ("Channel Display Name", "Nom d'affichage du canal"),
            ("Total Conversations", "Nombre total de conversations"),
            ("Handed Over to Agent", "Transfert à l'agent"),
            ("Handed Over Due to Error", "Transfert en raison d'une erreur"),
            ("Resolved", "Réglé"),
            ("Total Conversations with Topic", "Nombre total de conversations avec sujet"),
            ("Total Tagged Messages", "Nombre total de messages marqués"),
            ("Total Message Tags", "Le nombre total de messages marqués"),
        ]),
        ExportType(slug: "contact-attributes", title: "Contact attributes", view: "contact_attributes", columns: [
            ("Contact Profile ID", "ID de profil de contact"),
            ("Contact Primary Identifier", "Identificateur principal du contact"),
            ("Contact Secondary Identifier", "Identificateur secondaire du contact"),
            ("Attribute ID", "ID d'attribut"),
            ("Attribute Name", "Nom de l'attribut"),
            ("Attribute Value", "Valeur de l'attribut"),
            ("Attribute Type", "Type d'attribut"),
        ]),
    ]
}

/// The 39 columns of `resolved-conversations` (English, French).
private let resolvedConversationColumns: [(String, String)] = [
            ("Conversation ID", "Identifiant de conversation"),
            ("Medium", "Moyen"),
            ("Channel", "Channel"),
            ("Channel Display Name", "Nom d'affichage du canal"),
            ("Contact Profile ID", "ID de profil de contact"),
            ("Contact Primary Identifier", "Identificateur principal du contact"),
            ("Contact Secondary Identifier", "Identificateur secondaire du contact"),
            ("Created at", "Créé à"),
            ("Last Status Change Agent ID", "ID du dernier agent de changement de statut"),
            ("Last Status Change Agent Name", "Nom du dernier agent de changement de statut"),
            ("Last Status Change Agent Reference", "Référence du dernier agent de changement de statut"),
            ("Last Status Change Team ID", "ID d'équipe du dernier changement de statut"),
            ("Last Status Change Team Name", "Nom de l'équipe de la dernière modification"),
            ("Current Status", "État actuel"),
            ("Resolved By", "Résolu par"),
            ("Resolution Reason", "Raison de résolution"),
            ("Resolve Comment", "Résoudre le commentaire"),
            ("Resolve Trigger", "Résoudre le déclenchement"),
            ("Resolved at", "Résolu à"),
            ("Resolved Agent ID", "ID d'agent résolu"),
            ("Resolved Agent Name", "Nom de l'agent résolu"),
            ("Resolved Agent Reference", "Référence de l'agent résolu"),
            ("Inbound Message Count", "Nombre de messages entrants"),
            ("Outbound Message Count", "Nombre de messages sortants"),
            ("First Response Time", "Délais de première intervention"),
            ("Handling Time", "Temps de prise en charge"),
            ("No Reply Time", "Délais de non-réponse"),
            ("Cherry Picking Time", "Les temps de la cueillette des cerises"),
            ("Resolution Time", "Temps de résolution"),
            ("Topic IDs", "ID de sujet"),
            ("Topic Names", "Noms des sujets"),
            ("Conversation URL", "URL de conversation"),
            ("Last Updated", "Dernière mise à jour"),
            ("Language", "Langue"),
            ("CSAT Score", "Score CSAT"),
            ("CSAT Completed Status", "État CSAT terminé"),
            ("CSAT Follow Up Question", "Question de suivi CSAT"),
            ("CSAT Follow Up Answer", "Réponse de suivi CSAT"),
            ("Sentiment", "Opinion"),
]

/// The columns `open-conversations` leaves out of export 1's (exports.md, export 2).
private let openConversationsOmits: Set<String> = [
    "Resolution Reason", "Resolve Comment", "Resolve Trigger",
    "CSAT Score", "CSAT Completed Status", "CSAT Follow Up Question", "CSAT Follow Up Answer",
]

/// The language of an export's header row.
public enum HeaderLocale: String, Sendable, CaseIterable, Codable {
    case en
    case fr
}
