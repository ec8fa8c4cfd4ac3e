import Foundation
import InboxWarehouse

/// The interface language: English or French. Chosen by the `iw_lang` cookie (set by the
/// switch links), else by the browser's `Accept-Language`, else English.
enum Language: String, Sendable, CaseIterable {
    case en, fr

    static func choose(cookie: String?, acceptLanguage: String?) -> Language {
        if let cookie, let language = Language(rawValue: cookie) { return language }
        // The first of the browser's languages we speak, by quality then order.
        var best: (Language, Double, Int)?
        for (index, item) in (acceptLanguage ?? "").split(separator: ",").enumerated() {
            let parts = item.split(separator: ";")
            let tag = parts.first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            var quality = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix("q="), let value = Double(pair.dropFirst(2)) { quality = value }
            }
            let primary = String(tag.split(separator: "-").first ?? "")
            guard quality > 0, let language = Language(rawValue: primary) else { continue }
            if best == nil || quality > best!.1 || (quality == best!.1 && index < best!.2) { best = (language, quality, index) }
        }
        return best?.0 ?? .en
    }

    var headerLocale: HeaderLocale { self == .fr ? .fr : .en }

    /// The text of `key` in this language.
    func t(_ key: Text) -> String { self == .fr ? key.fr : key.en }
}

/// Every text of the interface, in both languages.
struct Text: Sendable {
    let en: String
    let fr: String

    static let appName = Text(en: "Inbox exports", fr: "Exports de la boîte de réception")
    static let login = Text(en: "Log in", fr: "Se connecter")
    static let username = Text(en: "User name", fr: "Nom d'utilisateur")
    static let password = Text(en: "Password", fr: "Mot de passe")
    static let wrongLogin = Text(en: "Wrong user name or password.", fr: "Nom d'utilisateur ou mot de passe incorrect.")
    static let tooManyAttempts = Text(en: "Too many failed attempts. Try again in a few minutes.",
                                      fr: "Trop de tentatives échouées. Réessayez dans quelques minutes.")
    static let logout = Text(en: "Log out", fr: "Se déconnecter")
    static let onDemand = Text(en: "On-demand", fr: "À la demande")
    static let scheduled = Text(en: "Scheduled", fr: "Planifiés")
    static let exports = Text(en: "Exports", fr: "Exports")
    static let exportType = Text(en: "Export type", fr: "Type d'export")
    static let timeZone = Text(en: "Time zone", fr: "Fuseau horaire")
    static let dateFrom = Text(en: "From", fr: "Du")
    static let dateTo = Text(en: "To (inclusive)", fr: "Au (inclus)")
    static let channels = Text(en: "Channels (none selected: all)", fr: "Canaux (aucun choisi : tous)")
    static let headerLanguage = Text(en: "Header language", fr: "Langue des en-têtes")
    static let generate = Text(en: "Generate export", fr: "Générer l'export")
    static let dateHelp = Text(en: "At most 18 months, within the last 18 months.",
                               fr: "18 mois au plus, dans les 18 derniers mois.")
    static let flash = Text(en: "Your export is being generated. You will receive a notification when the file is available.",
                            fr: "Votre export est en cours de génération. Vous recevrez une notification lorsque le fichier sera disponible.")
    static let pastExports = Text(en: "Past exports", fr: "Exports précédents")
    static let noJobs = Text(en: "No export yet.", fr: "Aucun export pour l'instant.")
    static let colType = Text(en: "Type", fr: "Type")
    static let colRange = Text(en: "Date range", fr: "Période")
    static let colZone = Text(en: "Time zone", fr: "Fuseau")
    static let colChannels = Text(en: "Channels", fr: "Canaux")
    static let colRequestedBy = Text(en: "Requested by", fr: "Demandé par")
    static let colRequestedAt = Text(en: "Requested at", fr: "Demandé le")
    static let colState = Text(en: "State", fr: "État")
    static let colRows = Text(en: "Rows", fr: "Lignes")
    static let colSize = Text(en: "Size", fr: "Taille")
    static let colFile = Text(en: "File", fr: "Fichier")
    static let allChannels = Text(en: "all", fr: "tous")
    static let download = Text(en: "Download", fr: "Télécharger")
    static let previous = Text(en: "Newer", fr: "Plus récents")
    static let next = Text(en: "Older", fr: "Plus anciens")
    static let page = Text(en: "Page", fr: "Page")
    static let queued = Text(en: "queued", fr: "en attente")
    static let running = Text(en: "running", fr: "en cours")
    static let succeeded = Text(en: "ready", fr: "prêt")
    static let failed = Text(en: "failed", fr: "échec")
    static let ready = Text(en: "Your export is ready", fr: "Votre export est prêt")
    static let failedNotice = Text(en: "Your export failed", fr: "Votre export a échoué")
    static let viewerNote = Text(en: "You can download exports; an administrator creates them.",
                                 fr: "Vous pouvez télécharger les exports ; un administrateur les crée.")
    static let forbidden = Text(en: "You are not allowed to do this.", fr: "Vous n'avez pas le droit de faire cela.")
    static let csrfRefused = Text(en: "The form has expired or did not come from this site. Reload the page and try again.",
                                  fr: "Le formulaire a expiré ou ne vient pas de ce site. Rechargez la page et réessayez.")
    static let notFound = Text(en: "Not found.", fr: "Introuvable.")
    static let scheduleName = Text(en: "Name", fr: "Nom")
    static let scheduleTypes = Text(en: "Export types (one schedule each)", fr: "Types d'export (une planification chacun)")
    static let frequency = Text(en: "Frequency", fr: "Fréquence")
    static let hourly = Text(en: "hourly", fr: "toutes les heures")
    static let daily = Text(en: "daily", fr: "quotidienne")
    static let weekly = Text(en: "weekly", fr: "hebdomadaire")
    static let monthly = Text(en: "monthly", fr: "mensuelle")
    static let delivery = Text(en: "Delivery", fr: "Livraison")
    static let keep = Text(en: "Keep for download", fr: "Garder pour téléchargement")
    static let sftp = Text(en: "SFTP", fr: "SFTP")
    static let webhook = Text(en: "Webhook", fr: "Webhook")
    static let destination = Text(en: "SFTP destination (sftp://user@host/path)", fr: "Destination SFTP (sftp://utilisateur@hôte/chemin)")
    static let webhookURL = Text(en: "Webhook URL", fr: "URL du webhook")
    static let createSchedule = Text(en: "Create schedule", fr: "Créer la planification")
    static let schedules = Text(en: "Schedules", fr: "Planifications")
    static let noSchedules = Text(en: "No schedule yet.", fr: "Aucune planification pour l'instant.")
    static let nextRun = Text(en: "Next run", fr: "Prochaine exécution")
    static let lastRun = Text(en: "Last run", fr: "Dernière exécution")
    static let lastFiles = Text(en: "Last files", fr: "Derniers fichiers")
    static let enabled = Text(en: "active", fr: "active")
    static let paused = Text(en: "paused", fr: "en pause")
    static let pause = Text(en: "Pause", fr: "Suspendre")
    static let resume = Text(en: "Resume", fr: "Reprendre")
    static let delete = Text(en: "Delete", fr: "Supprimer")
    static let scheduleCreated = Text(en: "Schedule created. Its first file comes after the current period ends.",
                                      fr: "Planification créée. Son premier fichier arrive à la fin de la période en cours.")
    static let never = Text(en: "never", fr: "jamais")
    static let chooseType = Text(en: "choose at least one export type", fr: "choisissez au moins un type d'export")
    static let notificationsButton = Text(en: "Enable browser notifications", fr: "Activer les notifications du navigateur")
    static let rowsWritten = Text(en: "rows written", fr: "lignes écrites")

    /// The one-line description of each export, by slug.
    static func describe(_ slug: String, _ language: Language) -> String {
        let texts: [String: (String, String)] = [
            "resolved-conversations": ("Conversations resolved in the period, with their handling times.",
                                       "Conversations résolues pendant la période, avec leurs durées de traitement."),
            "open-conversations": ("Conversations new or pending at the moment of the export.",
                                   "Conversations nouvelles ou en attente au moment de l'export."),
            "messages": ("Every message sent or received in the period.", "Chaque message envoyé ou reçu pendant la période."),
            "teams": ("Activity per team in the period.", "Activité par équipe pendant la période."),
            "contacts": ("Contacts who wrote in the period.", "Contacts qui ont écrit pendant la période."),
            "topics": ("Topics applied to conversations in the period.", "Sujets appliqués aux conversations pendant la période."),
            "tags": ("Tags applied to conversations in the period.", "Étiquettes appliquées aux conversations pendant la période."),
            "agent-availability": ("Time each agent spent in each availability status.",
                                   "Temps passé par chaque agent dans chaque statut de disponibilité."),
            "agent-metrics": ("Workload and response metrics per agent.", "Charge et délais de réponse par agent."),
            "responses": ("Each agent response and its response time.", "Chaque réponse d'agent et son délai."),
            "virtual-agents": ("Conversations handled by virtual agents (bots).", "Conversations traitées par des agents virtuels (bots)."),
            "contact-attributes": ("Custom attributes of the contacts.", "Attributs personnalisés des contacts."),
        ]
        guard let text = texts[slug] else { return "" }
        return language == .fr ? text.1 : text.0
    }

    static func state(_ state: String) -> Text {
        switch state {
        case "queued": return .queued
        case "running": return .running
        case "succeeded": return .succeeded
        default: return .failed
        }
    }
}
