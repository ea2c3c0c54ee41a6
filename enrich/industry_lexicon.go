package enrich

// industryLexicon is the keyword table of ClassifyIndustry: for each
// industry ("== Name", in the order of Industries), its strong and weak
// keywords in English, French, German and Spanish, written folded (lower
// case, no accents; "&", hyphens and apostrophes as spaces, so "e-commerce"
// is "e commerce" and "d'avocats" "d avocats"). A keyword is one word or a
// phrase of whole words; a single word may carry "*" at either end to
// reach into German compounds ("*versicherung" finds Krankenversicherung).
// Words that every industry uses (services, solutions, clients) are left
// out on purpose: they would only add noise.
const industryLexicon = `
== Software
strong: software, saas, software as a service, logiciel, logiciels, editeur de logiciels, editeur de logiciel, *software*, softwarehersteller, desarrollo de software, empresa de software
strong: crm, erp, api, apis, sdk, open source, developer tools, devops, no code, low code, cloud platform, cloud based, plataforma saas, solution saas, logiciel saas
weak: platform, plateforme, plattform, plataforma, cloud, app, apps, application, applications, aplicacion, aplicaciones, anwendung, anwendungen, automation, automatisation, automatisierung, automatizacion
weak: dashboard, integrations, analytics, workflow, workflows, artificial intelligence, intelligence artificielle, kunstliche intelligenz, inteligencia artificial, machine learning, startup, subscription, free trial, essai gratuit, kostenlos testen, prueba gratuita

== IT Services
strong: it services, managed services, managed service provider, msp, it consulting, systems integrator, system integrator, infogerance, esn, ssii, services informatiques, prestataire informatique, societe de services informatiques
strong: it dienstleister, it dienstleistungen, it dienstleistung, systemhaus, it service, it support, servicios it, servicios informaticos, servicios de ti, consultoria tecnologica, consultoria it, outsourcing, it outsourcing
strong: cybersecurity, cyber security, cybersecurite, ciberseguridad, it sicherheit, hosting, hebergement web, data center, datacenter, rechenzentrum, centro de datos, help desk, helpdesk
weak: informatique, informatik, informatica, digital transformation, transformation digitale, digitalisierung, transformacion digital, network, networks, reseau, reseaux, netzwerk, netzwerke
weak: server, servers, serveurs, infrastructure, infrastructures, infrastruktur, infraestructura, maintenance, wartung, mantenimiento, integration, integrateur, microsoft, cloud migration

== Manufacturing
strong: manufacturing, manufacturer, manufacturers, factory, factories, contract manufacturing, machining, cnc, injection molding, injection moulding, metalworking, machinery, industrial equipment
strong: fabricant, fabricants, fabrication, usine, usines, industriel, industrielle, sous traitance industrielle, usinage, decolletage, chaudronnerie, plasturgie
strong: hersteller, herstellung, fertigung, maschinenbau, produktionsbetrieb, anlagenbau, metallverarbeitung, zerspanung, industrieunternehmen
strong: fabricante, fabricantes, fabricacion, fabrica, fabricas, planta de produccion, industrial, mecanizado
weak: industry, industrie, industria, production, produccion, produktion, components, composants, komponenten, componentes, precision, prazision, steel, acier, stahl, acero
weak: plastics, plastique, kunststoff, kunststoffe, plasticos, equipment, equipement, equipements, ausrustung, equipos, oem, iso 9001, machines, maschinen, maquinaria, tooling, outillage, werkzeug, werkzeuge

== Retail & E-commerce
strong: e commerce, ecommerce, online shop, online store, webshop, onlineshop, boutique en ligne, vente en ligne, tienda online, tienda en linea, retail, retailer, retailers
strong: commerce de detail, detaillant, einzelhandel, einzelhandler, comercio minorista, minorista, marketplace, free shipping, livraison gratuite, kostenloser versand, envio gratis, envio gratuito, add to cart, ajouter au panier, in den warenkorb, anadir al carrito, shop now
strong: supermarket, supermarkets, grocery, groceries, supermarche, supermarches, supermarkt, supermarkte, supermercado, supermercados, department store, grand magasin, kaufhaus, grandes almacenes, commerce platform, ecommerce platform, e commerce platform
weak: shop, shops, store, stores, boutique, boutiques, magasin, magasins, laden, tienda, tiendas, fashion, mode, moda, collection, collections, clothing, vetements, bekleidung, ropa, shoes, chaussures, schuhe, zapatos
weak: furniture, meubles, mobel, muebles, gift, gifts, cadeau, cadeaux, geschenke, regalos, cart, panier, warenkorb, carrito, checkout, order online, commander en ligne, online bestellen, sale, soldes, rebajas, commerce, sell online, vendre en ligne, online verkaufen, vender online, online kaufen, compra online, comprar online, achat en ligne

== Financial Services
strong: bank, banks, banking, banque, banques, bancaire, banca, banco, bancos, fintech, financial services, services financiers, finanzdienstleister, finanzdienstleistungen, servicios financieros
strong: asset management, gestion d actifs, vermogensverwaltung, gestion de activos, wealth management, gestion de patrimoine, investment bank, investment banking, private equity, venture capital, capital risque, capital riesgo
strong: lending, loans, prets, darlehen, prestamos, payments, payment processing, paiement, paiements, zahlungen, zahlungsverkehr, pagos, brokerage, trading, cryptocurrency, crypto, mortgage, mortgages, hypotheque, hypotheken, hipoteca, hipotecas
weak: finance, financial, financier, financiere, finanz, finanzen, financiero, financiera, finanzas, money, argent, geld, dinero, credit, credito, kredit, kredite, savings, epargne, sparen, ahorro
weak: investment, investments, investissement, investissements, investition, inversion, inversiones, capital, fund, funds, fonds, fondos, investors, investisseurs, anleger, inversores, blockchain, interest rate, taux d interet, zinsen

== Insurance
strong: insurance, insurer, insurers, insurance broker, assurance, assurances, assureur, assureurs, mutuelle, police d assurance, polices d assurance, courtier en assurance, courtage en assurance, versicherung, versicherungen, *versicherung, versicherer, versicherungsmakler
strong: seguros, aseguradora, aseguradoras, correduria de seguros, reinsurance, reassurance, ruckversicherung, reaseguro, underwriting, insurtech
weak: policy, policies, coverage, claims, sinistre, sinistres, schaden, schadensfall, siniestro, siniestros, premium, premiums, cobertura, couverture, garantie, garanties, life, vie, leben, vida
weak: risk, risks, risque, risques, risiko, risiken, riesgo, riesgos, broker, brokers, courtier, courtiers, makler, corredor, corredores, seguro

== Healthcare
strong: healthcare, health care, hospital, hospitals, clinic, clinics, clinical, medical, medicine, patients, patient, physician, physicians, doctors, nurses, nursing, pharmacy, pharmaceutical, pharmaceuticals, pharma, biotech, biotechnology
strong: medical devices, telemedicine, telehealth, dental, dentist, dentistry, diagnostics, therapy, therapies, therapeutics, care home
strong: sante, hopital, hopitaux, clinique, cliniques, medecin, medecins, pharmacie, pharmaceutique, dentaire, soins, dispositifs medicaux, ehpad, laboratoire pharmaceutique
strong: gesundheit, gesundheitswesen, krankenhaus, krankenhauser, klinik, kliniken, patienten, arzt, arzte, arztpraxis, pflege, pflegedienst, apotheke, medizin, medizinisch, medizinische, medizintechnik
strong: salud, sanitario, sanitaria, hospitales, clinica, clinicas, pacientes, medico, medicos, farmacia, farmaceutica, odontologia
weak: health, wellness, care, bien etre, wohlbefinden, bienestar, life sciences, sciences de la vie, lab, laboratory, laboratories, laboratoire, labor, laboratorio, praxis

== Education
strong: education, educational, school, schools, university, universities, college, colleges, online courses, e learning, elearning, edtech, students, teachers, teaching, learning platform, tutoring, curriculum, pedagogy
strong: ecole, ecoles, universite, universites, enseignement, etudiants, eleves, enseignants, formation professionnelle, organisme de formation, soutien scolaire, pedagogie
strong: schule, schulen, hochschule, hochschulen, universitat, bildung, weiterbildung, studierende, schuler, lehrer, nachhilfe, padagogik, bildungseinrichtung
strong: educacion, escuela, escuelas, universidad, universidades, colegio, estudiantes, alumnos, profesores, formacion profesional, ensenanza
weak: learning, apprentissage, lernen, aprendizaje, training, trainings, formation, formations, ausbildung, capacitacion, formacion, academy, academie, akademie, academia, campus, courses, cours, kurse, cursos
weak: diploma, diplomas, diplome, diplomes, degree, degrees, certification, certifications, zertifizierung, certificacion

== Logistics & Transportation
strong: logistics, logistique, logistik, logistica, freight, freight forwarding, fret, fracht, transport, transports, transportation, trucking, haulage, transporteur, transporteurs, spedition, speditionen, transporte, transportes
strong: supply chain, chaine logistique, lieferkette, cadena de suministro, warehousing, warehouse, warehouses, entrepot, entrepots, entreposage, lagerhaltung, lagerlogistik, almacen, almacenes, almacenaje
strong: last mile, dernier kilometre, courier, couriers, coursier, kurier, kurierdienst, mensajeria, commissionnaire de transport, 3pl, fleet, flotte, fuhrpark, flota
strong: airline, airlines, compagnie aerienne, fluggesellschaft, aerolinea, railway, railways, ferroviaire, bahn, ferrocarril, parcel, parcels, colis, pakete, paketdienst, paqueteria, cargo
weak: delivery, deliveries, livraison, livraisons, lieferung, entrega, entregas, distribution, distribucion, shipping, expedition, versand, envios, trucks, camions, lkw, camiones, port, ports, hafen, puerto, tracking

== Construction
strong: construction, contractor, contractors, general contractor, builders, civil engineering, roofing, plumbing, hvac, electrical contractor, carpentry, masonry, building contractor
strong: genie civil, btp, batiment, travaux publics, chantier, chantiers, gros oeuvre, maconnerie, charpente, menuiserie, plomberie, entreprise de construction
strong: bauunternehmen, bauunternehmung, hochbau, tiefbau, bauwesen, bauleistungen, bauprojekte, baustelle, baustellen, zimmerei, dachdecker, dachdeckerei, rohbau, bauindustrie
strong: construccion, constructora, constructoras, obra civil, obras, reformas, fontaneria, albanileria, carpinteria
weak: building, buildings, renovation, renovations, renovierung, reforma, architecture, architektur, arquitectura, concrete, beton, hormigon, houses, maisons, hauser, casas, residential, residentiel, projects, projets, proyectos

== Real Estate
strong: real estate, realty, realtor, realtors, property management, estate agent, estate agents, letting agent, letting agents, commercial property, property developer, proptech, homes for sale, apartments for rent
strong: immobilier, immobiliere, agence immobiliere, promoteur immobilier, promotion immobiliere, gestion locative, transaction immobiliere
strong: immobilien, immobilienmakler, hausverwaltung, immobilienverwaltung, projektentwickler, wohnungsbaugesellschaft
strong: inmobiliaria, inmobiliarias, inmobiliario, bienes raices, agente inmobiliario, promotora inmobiliaria
weak: property, properties, propriete, proprietes, apartments, appartements, appartement, wohnungen, wohnung, pisos, piso, rent, rental, rentals, miete, mieten, alquiler, alquileres, homes, tenants, locataires, mieter, inquilinos
weak: landlord, landlords, bailleur, bailleurs, vermieter, square feet, makler, office space, bureaux, coworking, logement, logements, vivienda, viviendas

== Marketing & Advertising
strong: marketing agency, digital agency, advertising agency, ad agency, advertising, creative agency, agence de communication, agence marketing, agence digitale, agence web, agence de publicite, agence creative, publicite
strong: werbeagentur, marketingagentur, digitalagentur, kommunikationsagentur, werbung, agencia de marketing, agencia de publicidad, agencia digital, agencia creativa, publicidad
strong: seo, sem, ppc, social media marketing, performance marketing, influencer marketing, brand strategy, content marketing, media buying, lead generation, growth marketing, adtech, programmatic, public relations, relations presse, pr agency, branding
weak: marketing, agency, agence, agentur, agencia, campaigns, campagnes, kampagnen, campanas, brand, brands, creative, creatif, creative studio, kreativ, creativa, communication, kommunikation, comunicacion, audience, engagement, digital, social media, reseaux sociaux, redes sociales

== Media & Publishing
strong: publisher, publishers, publishing, maison d edition, editions, verlag, verlage, verlagshaus, editorial, newspaper, newspapers, journaux, magazine, magazines, zeitung, zeitungen, zeitschrift, zeitschriften, periodico, periodicos, revista, revistas
strong: broadcasting, broadcaster, television, tv, radio, film, films, cinema, kino, production company, societe de production, produktionsfirma, productora, podcast, podcasts, media company, medias, medien, medios de comunicacion, streaming
strong: books, livres, bucher, libros, journalism, journalisme, journalismus, periodismo, documentary, documentaire, dokumentarfilm, documental
weak: media, news, journal, content, contenu, contenus, inhalte, contenidos, stories, articles, articulos, artikel, readers, lecteurs, leser, lectores, video, videos, audio, music, musique, musik, musica, entertainment, divertissement, unterhaltung, entretenimiento

== Hospitality & Travel
strong: hotel, hotels, hostel, hostels, resort, resorts, bed and breakfast, chambres d hotes, hospitality, hotellerie, hotelerie, hoteleria, gastgewerbe, gastronomie, restaurant, restaurants
strong: travel, travel agency, agence de voyage, agence de voyages, voyage, voyages, reisen, reiseburo, reiseveranstalter, viajes, agencia de viajes, tourism, tourisme, tourismus, turismo
strong: vacation, vacations, vacances, urlaub, vacaciones, holidays, tour operator, voyagiste, cruise, cruises, croisiere, croisieres, kreuzfahrt, kreuzfahrten, crucero, cruceros, camping, accommodation, hebergement, unterkunft, unterkunfte, alojamiento, ferienwohnung, ferienwohnungen, gite, gites, casa rural
weak: rooms, chambres, zimmer, habitaciones, guests, gaste, huespedes, stay, sejour, sejours, aufenthalt, estancia, destination, destinations, reiseziel, reiseziele, destinos, spa, trips, excursions, ausfluge, excursiones
weak: breakfast, petit dejeuner, fruhstuck, desayuno, booking, book now, reservation, reservations, reserver, reservierung, buchen, reserva, reservas, reservar

== Energy & Utilities
strong: energy, energie, energies, energia, renewable energy, renewables, energies renouvelables, erneuerbare energien, energias renovables, solar, solaire, photovoltaique, photovoltaik, fotovoltaica, wind energy, wind power, eolien, eolienne, eoliennes, windkraft, windenergie, eolica
strong: electricity, electricite, strom, electricidad, power generation, utility, utilities, oil, natural gas, petrole, petrolier, gaz, erdgas, erdol, petroleo, gas natural, nuclear, nucleaire, kernenergie, power plant, kraftwerk, kraftwerke
strong: stadtwerke, energieversorger, energieversorgung, fournisseur d energie, hydrogen, hydrogene, wasserstoff, hidrogeno, ev charging, heat pump, heat pumps, pompe a chaleur, pompes a chaleur, warmepumpe, warmepumpen, bomba de calor, oil and gas
weak: power, kwh, mw, carbon, carbone, co2, emissions, climate, climat, klima, clima, sustainable, durable, nachhaltig, nachhaltigkeit, sostenible, efficiency, efficacite, effizienz, eficiencia
weak: water, eau, wasser, agua, net zero, batteries, battery, storage, stockage, speicher, almacenamiento, grid, reseau electrique, stromnetz, red electrica, gas

== Telecommunications
strong: telecommunications, telecommunication, telecom, telecoms, telco, mobile operator, network operator, isp, internet service provider, broadband, fibre optique, fiber optic, fibre, fiber, fibra optica, glasfaser, breitband
strong: 5g, 4g, lte, mobile network, operateur, operateur telecom, operateur mobile, telekommunikation, mobilfunk, mobilfunkanbieter, telecomunicaciones, operador movil, operadora, voip, unified communications
strong: telephonie, telephony, telefonia, telefonie, roaming, satellite, satellites, internet access, acces internet, internetanbieter, proveedor de internet
weak: network, networks, reseau, reseaux, netz, netzwerk, redes, mobile, mobiles, movil, connectivity, connectivite, konnektivitat, conectividad, internet, calls, appels, anrufe, llamadas, coverage, couverture, abdeckung, sim

== Government & Public Sector
strong: government, local government, federal government, ministry, ministere, ministerium, ministerio, municipality, municipal, city council, county council, mairie, conseil departemental, conseil regional
strong: collectivite territoriale, collectivites territoriales, prefecture, gemeinde, stadtverwaltung, landkreis, bundesamt, landesamt, behorde, behorden, ayuntamiento, administracion publica, gobierno, diputacion
strong: public sector, secteur public, offentlicher dienst, sector publico, public administration, administration publique, public services, service public, services publics, official website, site officiel
strong: parliament, parlement, parlament, parlamento, embassy, ambassade, botschaft, embajada, polizei, policia, republique francaise, citizens, citoyens, ciudadanos
weak: police, public, publique, publics, offentlich, offentliche, publico, publica, regulations, reglementation, residents, habitants, einwohner, vecinos, permits, civil service, agency, department

== Non-profit
strong: nonprofit, non profit, not for profit, charity, charities, charitable, registered charity, ngo, ngos, association loi 1901, association a but non lucratif, organisation non gouvernementale, ong
strong: gemeinnutzig, gemeinnutzige, gemeinnutziger, eingetragener verein, hilfsorganisation, spendenorganisation, sin animo de lucro, sin fines de lucro, organizacion sin animo de lucro, 501 c 3
strong: donate, donate now, donations, faire un don, dons, spenden, jetzt spenden, donaciones, donar, volunteer, volunteers, volunteering, benevoles, benevolat, ehrenamt, ehrenamtlich, freiwillige, voluntarios, voluntariado
strong: humanitarian, humanitaire, humanitar, humanitare, humanitario, humanitaria
weak: foundation, fondation, stiftung, fundacion, association, verein, asociacion, community, communaute, gemeinschaft, comunidad, mission, cause, impact, members, adherents, mitglieder, socios

== Legal
strong: law firm, law office, lawyers, lawyer, attorneys, attorney, legal services, solicitors, barristers, litigation, legal advice, intellectual property, patent, patents, legaltech, arbitration
strong: cabinet d avocats, avocats, avocat, droit des affaires, conseil juridique, notaire, notaires, etude notariale, propriete intellectuelle, brevets
strong: kanzlei, anwaltskanzlei, rechtsanwalt, rechtsanwalte, rechtsanwaltin, rechtsanwaltskanzlei, rechtsberatung, notar, notariat, patentanwalt, patentanwalte
strong: despacho de abogados, abogados, abogado, bufete, asesoria juridica, servicios juridicos, notaria, propiedad intelectual
weak: legal, law, droit, recht, derecho, juridique, juridico, juridica, contracts, contrats, vertrage, contratos, compliance, conformite, court, tribunal, gericht, tribunales, disputes, litiges, streitigkeiten, litigios, counsel

== Consulting
strong: consulting, consultancy, consultants, management consulting, strategy consulting, advisory, advisory services, business consulting, consulting firm
strong: conseil en management, cabinet de conseil, conseil en strategie, societe de conseil, cabinet conseil
strong: unternehmensberatung, beratungsunternehmen, managementberatung, strategieberatung, beratungsgesellschaft
strong: consultoria, consultora, consultoras, asesoria, consultoria estrategica
weak: professional services, strategy, strategie, estrategia, transformation, change management, conseil, beratung, asesoramiento, experts, expertise, best practices, due diligence, project management, gestion de projet, projektmanagement, organisations, organizations, organisationen, organizaciones

== Agriculture
strong: agriculture, agricultural, agribusiness, farm, farms, farming, farmers, agricole, agricoles, agriculteur, agriculteurs, exploitation agricole, elevage, landwirtschaft, landwirtschaftlich, landwirtschaftliche, bauernhof, landwirte
strong: agricultura, agricola, agricolas, granja, agricultores, ganaderia, livestock, cattle, crops, harvest, recolte, ernte, cosecha, seeds, semences, saatgut, semillas, fertilizer, fertilizers, engrais, dunger, fertilizantes
strong: tractor, tractors, tracteur, tracteurs, traktor, traktoren, agtech, agronomy, agronomie, viticulture, vineyard, vineyards, vignoble, vignobles, weinbau, vinedos, orchards, greenhouse, greenhouses, serres, gewachshaus, invernadero, invernaderos, horticulture
weak: organic, bio, biologique, okologisch, organico, fields, champs, felder, campos, rural, soil, sol, boden, suelo, irrigation, riego, animals, animaux, tiere, animales, grain, grains, cereales, getreide

== Automotive
strong: automotive, automobile, automobiles, automobil, car dealer, car dealership, dealership, concessionnaire, autohaus, concesionario, cars, vehicles, vehicle, vehicules, vehicule, fahrzeuge, fahrzeug, vehiculos, vehiculo
strong: auto parts, car parts, pieces automobiles, pieces detachees, autoteile, kfz, kfz werkstatt, autoreparatur, garage automobile, car repair, taller mecanico, recambios, electric vehicles, vehicules electriques, elektrofahrzeuge, vehiculos electricos
strong: carrosserie, karosserie, car rental, location de voitures, autovermietung, alquiler de coches, motorsport, motorcycles, motorcycle, motos, motorrader, automocion, automotriz
weak: car, voiture, voitures, auto, autos, coche, coches, wagen, engine, engines, moteur, moteurs, motor, motoren, motores, tires, tyres, pneus, reifen, neumaticos, mobility, mobilite, mobilitat, movilidad
weak: drivers, conducteurs, fahrer, conductores, garage, werkstatt, taller, oem

== Food & Beverage
strong: food and beverage, food beverage, food products, food manufacturer, produits alimentaires, agroalimentaire, industrie alimentaire, lebensmittel, lebensmittelhersteller, nahrungsmittel, alimentos, alimentacion, alimentaire, alimentaires
strong: beverage, beverages, boissons, getranke, bebidas, brewery, breweries, brasserie, brauerei, cerveceria, beer, beers, biere, bieres, bier, cerveza, cervezas, craft beer
strong: wine, wines, winery, vin, vins, wein, weine, weingut, vino, vinos, bodega, bodegas, distillery, distillerie, brennerei, destileria, spirits, spiritueux, coffee, kaffee, roastery, torrefaction, rosterei, tostadero
strong: bakery, boulangerie, patisserie, backerei, konditorei, panaderia, pasteleria, chocolate, chocolat, schokolade, chocolatier, cheese, fromage, fromages, fromagerie, kase, kaserei, queso, quesos
strong: catering, traiteur, snacks, confectionery, confiserie, juice, juices, jus, saft, zumo, zumos, dairy, laitier, laitiers, molkerei, lacteos, meat, viande, fleisch, metzgerei, carne, carniceria, charcuterie
weak: food, foods, alimentation, essen, comida, delicious, delicieux, lecker, delicioso, taste, gout, geschmack, sabor, ingredients, zutaten, ingredientes, fresh, frais, frisch, fresco, recipes, recettes, rezepte, recetas
weak: menu, kitchen, cuisine, kuche, cocina, chef, gourmet, cafe, restaurant, restaurants, milk, lait, milch, leche
`
